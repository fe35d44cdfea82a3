"""The server's endpoints, one ``APIRouter`` per concern: :mod:`.datasets` (registry, virtual
shards, streams), :mod:`.catalogue` (shaders, previews, gallery) and :mod:`.operations`
(probes, metrics). :func:`unnatural.server.app.create_app` includes them and adds the auth."""
