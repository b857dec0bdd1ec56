#pragma once
// One value of a SQL row or parameter: NULL, an integer, a double or text
// (valid UTF-8; see the SqlSource contract in source.hpp).

#include <cstdint>
#include <string>
#include <variant>

namespace datawatch {

using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

}  // namespace datawatch
