// implementation pending (lineage/graph.hpp)
