"""Stage 0, configuration: the operator's TOML file as validated records.

- ``model``: the configuration as dataclasses, with the only copy of every default
- ``loader``: the TOML file validated key by key into the model
- ``durations``: durations written by people ("90s", "5m", "1h30m")
- ``keys``: the one message for an unknown key (the config file's and topic files')
- ``template``: alert templates, the parts of an alert and their order
- ``reload``: /reload, what can change while the bot runs
"""
