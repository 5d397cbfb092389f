"""Stage 0, configuration: the operator's TOML file as validated records.

- ``loader``: the model (dataclasses with their defaults) and the loader that validates it key by key
- ``durations``: durations written by people ("90s", "5m", "1h30m")
- ``reload``: /reload, what can change while the bot runs
"""
