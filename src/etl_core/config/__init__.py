"""The job dialect as pydantic models (no I/O beyond reading a job file)."""

from etl_core.config.loader import load_job_file, load_job_text, parse_job
from etl_core.config.models import ComponentConfig, Edge, Environment, JobConfig, PortSpec, Strategy
from etl_core.config.schema import DataType, FieldDef, Schema

__all__ = [
    "ComponentConfig",
    "DataType",
    "Edge",
    "Environment",
    "FieldDef",
    "JobConfig",
    "PortSpec",
    "Schema",
    "Strategy",
    "load_job_file",
    "load_job_text",
    "parse_job",
]
