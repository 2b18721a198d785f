"""The partner's configuration, kept outside the code: partner profile, customers, prices.

`load_config(directory)` reads and checks it, `load_into_warehouse` puts it in `config.*` for
the dbt models, `write_sample_config(directory)` writes the commented sample to start from.
"""

from pipelines.config.errors import ConfigError, ConfigProblem
from pipelines.config.loading import (
    SAMPLE_DIR,
    PartnerConfig,
    config_dir_in_use,
    load_config,
    load_into_warehouse,
    write_sample_config,
)
from pipelines.config.partner import PartnerProfile

__all__ = [
    "SAMPLE_DIR",
    "ConfigError",
    "ConfigProblem",
    "PartnerConfig",
    "PartnerProfile",
    "config_dir_in_use",
    "load_config",
    "load_into_warehouse",
    "write_sample_config",
]
