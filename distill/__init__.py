"""Distillation client of unnatural: data, models, teachers, KD, studies. Not built yet."""
