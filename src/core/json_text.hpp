// JSON text of the API's answers: Boost.JSON's own writer, except that numbers with a fraction are
// written in their shortest plain form (2.4756217002868652, not 2.4756217002868652E0).
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace audex {

std::string to_json_text(const boost::json::value& v);
void append_json_text(std::string& out, const boost::json::value& v);

}  // namespace audex
