#pragma once
// `import dbt`: one Plan as a probe in the config's YAML. Every probe carries
// its dbt level as the alert severity (error -> critical, warn -> warning) and
// a description naming the dbt unique_ids it checks.

#include <yaml-cpp/yaml.h>

#include <string>

#include "import/dbt_plan.hpp"

namespace datawatch::dbt {

void emitProbe(YAML::Emitter& out, const Plan& p, const std::string& source);

}  // namespace datawatch::dbt
