"""The partner's configuration, kept outside the code: partner profile, customers, prices.

`load_config(directory)` reads and checks it, `load_into_warehouse` puts it in `config.*` for
the dbt models, `write_sample_config(directory)` writes the commented sample to start from.
"""

from pipelines.config.errors import ConfigError, ConfigProblem
from pipelines.config.loading import (
    CONFIG_DIR_ENV,
    SAMPLE_DIR,
    PartnerConfig,
    config_dir_in_use,
    load_config,
    load_into_warehouse,
    resolve_config_dir,
    write_sample_config,
)
from pipelines.config.partner import PartnerProfile

__all__ = [
    "CONFIG_DIR_ENV",
    "SAMPLE_DIR",
    "ConfigError",
    "ConfigProblem",
    "PartnerConfig",
    "PartnerProfile",
    "config_dir_in_use",
    "load_config",
    "load_into_warehouse",
    "resolve_config_dir",
    "write_sample_config",
]
