"""Distillation client of unnatural: the library (real data, augmentation, models, model files,
teacher training, the KD trainer, class balancing, boundary samples, revisited batch norm,
dynamic quantization, bit-width policies) and, above it, the research runs in
:mod:`unnatural.distill.studies`."""
