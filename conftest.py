"""Repository-level pytest settings.

The live notebooks in notebooks/live/ are generated for teaching (their code is
blanked on purpose), so nbval must never run them, even under a bare
`pytest --nbval notebooks/`.
"""
collect_ignore_glob = ["notebooks/live/*"]
