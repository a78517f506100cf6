// The `filter` of object lists: a parsed query compiled into a predicate over stored objects of one
// model, typed by the model's schema (numbers, date-times, IPs, booleans, case-insensitive
// strings).
#pragma once

#include "audex/error.hpp"
#include "core/schema.hpp"
#include "index/query.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <set>
#include <string>

namespace audex::store {

// Gives the stored value of an attribute of the object under test, or nullptr when it is unset.
using attribute_source = std::function<const boost::json::value*(const attribute&)>;

class object_filter {
  public:
    using predicate = std::function<bool(const attribute_source&)>;

    // Unknown attributes give InvalidArgument (details.field); values that do not fit the
    // attribute's type give InvalidQueryValue.
    static result<object_filter> compile(const model& m, const query::node& q);

    bool matches(const attribute_source& source) const { return predicate_(source); }
    // The attributes the query names (expensive ones must then be computed for each object).
    const std::set<std::string>& attributes() const { return attributes_; }

  private:
    predicate predicate_;
    std::set<std::string> attributes_;
};

}  // namespace audex::store
