"""Floor 2: config files (SPEC §1)."""

from segwright.config.config import Config
from segwright.config.config_dict import ConfigDict
from segwright.config.load import LoadReport, load_config
from segwright.config.options import parse_options, parse_value

__all__ = ["Config", "ConfigDict", "LoadReport", "load_config", "parse_options", "parse_value"]
