"""The fake vendor APIs, one module per vendor behind a route table (``sandbox.server`` serves them)."""

from sandbox.api.bigmarker import BigMarkerApi
from sandbox.api.calendly import CalendlyApi
from sandbox.api.control import ControlApi, stats_dict
from sandbox.api.core import ApiError, Route, State, VendorApi
from sandbox.api.zoom import ZoomApi

VENDOR_APIS: tuple[type[VendorApi], ...] = (BigMarkerApi, CalendlyApi, ZoomApi)

__all__ = [
    "VENDOR_APIS",
    "ApiError",
    "BigMarkerApi",
    "CalendlyApi",
    "ControlApi",
    "Route",
    "State",
    "VendorApi",
    "ZoomApi",
    "stats_dict",
]
