// implementation pending (lineage/run_event.hpp)
