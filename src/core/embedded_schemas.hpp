// The text of every file in schemas/, by file stem ("session", "errors", ...), built into the
// binary.
#pragma once

#include <map>
#include <string_view>

namespace audex {

const std::map<std::string_view, std::string_view>& embedded_schemas();

}  // namespace audex
