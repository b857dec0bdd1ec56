#pragma once
// ASCII case folding for keywords, units and identifiers read from configs,
// contracts and manifests (never locale-dependent; bytes >= 0x80 unchanged).

#include <cctype>
#include <string>
#include <string_view>

namespace datawatch {

inline std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace datawatch
