// implementation pending (lineage/links.hpp)
