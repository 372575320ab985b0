"""Market-abuse detectors, one module each; importing the package registers them."""

from suptech.detect.market import (  # noqa: F401
    cross_market,
    front_running,
    insider,
    layering,
    marking_close,
    pump_dump,
    pump_flow,
    ramping,
    spoofing,
    wash_trade,
)
