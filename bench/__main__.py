"""`make bench`: every benchmark, one after the other; each prints its own figures."""

from . import pack_throughput

pack_throughput.main(["--resources", "10000"])
