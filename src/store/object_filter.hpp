// The one attribute evaluator of the query language: a parsed query compiled into a predicate over
// the typed attributes of a model (numbers, date-times, IPs, booleans, case-insensitive strings).
// It serves the object API's `filter` (a schema model) and the audit API's `q` (the audit view's
// dotted fields); the caller supplies each object's values.
#pragma once

#include "audex/error.hpp"
#include "core/query.hpp"
#include "core/schema.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace audex::store {

// Gives the stored value of an attribute of the object under test, or nullptr when it is unset.
using attribute_source = std::function<const boost::json::value*(const attribute&)>;

class object_filter {
  public:
    using predicate = std::function<bool(const attribute_source&)>;

    // Unknown attributes give InvalidArgument (details.field); values that do not fit the
    // attribute's type give InvalidQueryValue. `param` names the request parameter in errors.
    static result<object_filter> compile(const model& m, const query::node& q,
                                         std::string_view param = "filter");

    bool matches(const attribute_source& source) const { return predicate_(source); }
    // The attributes the query names (expensive ones must then be computed for each object).
    const std::set<std::string>& attributes() const { return attributes_; }

  private:
    predicate predicate_;
    std::set<std::string> attributes_;
};

// Orders two stored values of `a` the way filters compare them: numbers and date-times
// numerically, IPs by address, ids as numbers, strings without regard to ASCII case, with unset
// values last.
int compare_stored(const attribute& a, const boost::json::value* x, const boost::json::value* y);

// Bytes whose order is the order compare_stored() gives to stored values of `a` (numbers and
// date-times as order-preserving doubles, the other kinds as their comparison text), or nullopt
// for a value that does not fit the attribute's type. Indexes key values by it.
std::optional<std::string> sort_key(const attribute& a, const boost::json::value& v);

// The cells of the edit-distance table that within_edit_distance() filled: tests hold it to its
// band.
struct edit_distance_work {
    std::size_t cells = 0;
};

// Whether the Levenshtein distance (in bytes) between `a` and `b` is at most `max`. Only the band
// of 2·max+1 diagonals around the main one can hold a distance of `max` or less, and a row whose
// band is all past `max` ends the search, so a comparison costs O(min(|a|, |b|)·max) and strings
// whose lengths differ by more than `max` cost nothing: a fuzzy term against a 600 kB value must
// not be a full table (6.6 s on an I/O thread before).
bool within_edit_distance(std::string_view a, std::string_view b, std::size_t max,
                          edit_distance_work* work = nullptr);

}  // namespace audex::store
