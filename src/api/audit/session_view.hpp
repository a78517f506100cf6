// The audit view of a stored session (API.md section 4): the nested document that
// GET /api/audit/sessions/<id> shows, and its dotted leaf fields (user.name, start_time, ...),
// typed, which q, fields, sort and stats name. docs/api.md lists how each maps to the stored
// session.
#pragma once

#include "api/v2/object_api.hpp"
#include "core/schema.hpp"
#include "core/time.hpp"
#include "store/lmdb.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace audex::api::audit {

// The view's leaf fields as a model (a table of typed attributes), in document order, so that the
// one filter evaluator compiles q against them.
const model& view_model();

// The stored session attribute that a leaf field of view_model() is computed from alone (`verdict`
// from `status`, `user.name` from `user_id`), or "" when there is none.
std::string_view source_attribute(const attribute& field);

// The leaf fields that a `fields` list names: leaves and groups (`user` is every user.* leaf).
// InvalidArgument (details.field = `param`) for a name the view does not have.
std::vector<const attribute*> named_fields(std::string_view list, std::string_view param);
// The leaf field `name` (for sort and stats); InvalidArgument otherwise.
const attribute& leaf_field(std::string_view name, std::string_view param);

// One live session seen through the view. Values are computed on first use: the names of
// referenced objects cost a read each.
class session_view {
  public:
    session_view(const object_api& api, const store::transaction& txn, std::uint64_t id,
                 json::object stored, micros now);

    std::uint64_t id() const { return id_; }
    micros started() const;
    // The end of the session's span: finished_at, or now while it is active.
    micros ended() const;

    // A field's value in the stored form (date-times as microseconds), null when unset. `field`
    // is an attribute of view_model().
    const json::value& stored(const attribute& field);
    // For filters: the stored value, or nullptr when unset.
    const json::value* operator()(const attribute& field);
    // A stored value as the view writes it (date-times in ISO 8601 UTC).
    static json::value output(const attribute& field, const json::value& stored);
    // The document with the given leaf fields, nested by their dots; every field when empty.
    json::object document(const std::vector<const attribute*>& fields = {});

  private:
    const object_api& api_;
    const store::transaction& txn_;
    std::uint64_t id_;
    json::object stored_;
    micros now_;
    std::vector<std::optional<json::value>> values_;  // by field, once computed
};

}  // namespace audex::api::audit
