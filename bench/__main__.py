"""`make bench`: every benchmark, one after the other; each prints its own figures."""

from . import pack_throughput, preflight_floor, web_service

preflight_floor.main(["--stack", "prod", "--runs", "3"])
print()
pack_throughput.main(["--resources", "1000", "10000"])
print()
web_service.main(["--connections", "200", "--requests", "20000"])
