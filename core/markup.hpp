#pragma once
// Escaping text for markup: the status page (HTML) and the post-mortem chart (SVG).

#include <string>
#include <string_view>

namespace datawatch {

// `s` safe inside HTML/XML text and quoted attributes: & < > " ' escaped.
std::string xmlEscape(std::string_view s);

}  // namespace datawatch
