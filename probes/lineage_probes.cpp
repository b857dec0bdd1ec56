// job probes and dataset freshness/volume (lineage_probes.hpp)
