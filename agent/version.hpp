#pragma once

namespace datawatch {
inline constexpr const char* kVersion = DATAWATCH_VERSION;
inline constexpr const char* kGitRevision = DATAWATCH_GIT_REV;
}  // namespace datawatch
