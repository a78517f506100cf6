// The object API's lists (see object_api.hpp): a list request parsed and checked, then streamed a
// slice at a time; sessions through their partitions' field indexes.
#include "api/v2/object_api.hpp"

#include "api/v2/object_rules.hpp"
#include "core/deadline.hpp"
#include "core/json_text.hpp"
#include "core/query.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <charconv>
#include <map>

namespace audex::api {

namespace {

std::size_t parse_count(std::string_view name, std::string_view text, std::size_t max) {
    std::size_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v > max)
        fail(api_error::invalid_argument(
            name, std::string(name) + " must be a whole number from 0 to " + std::to_string(max)));
    return v;
}

// Orders stored values of one attribute: unset values last, numbers numerically.
int compare_values(const json::value* a, const json::value* b) {
    bool an = !a || a->is_null(), bn = !b || b->is_null();
    if (an || bn) return an == bn ? 0 : an ? 1 : -1;
    if (a->is_number() && b->is_number()) {
        double x = a->to_number<double>(), y = b->to_number<double>();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a->is_string() && b->is_string()) {
        std::string_view x = a->get_string(), y = b->get_string();
        // Ids are decimal strings: a shorter one is smaller.
        if (x.size() != y.size() && std::all_of(x.begin(), x.end(), ::isdigit) &&
            std::all_of(y.begin(), y.end(), ::isdigit))
            return x.size() < y.size() ? -1 : 1;
        return x.compare(y) < 0 ? -1 : x.compare(y) > 0 ? 1 : 0;
    }
    if (a->is_bool() && b->is_bool()) return int(a->get_bool()) - int(b->get_bool());
    return 0;
}

}  // namespace

// ---- lists -----------------------------------------------------------------------------------

std::optional<list_request> object_api::as_list(const auth::principal& who, const call& c) const {
    if (c.method != verb::get || c.path.size() != 1 || c.path[0] == "session_backup" ||
        c.path[0] == "objspec")
        return std::nullopt;
    const model& m = model_named(c.path[0]);
    require(who, auth::capability::read);
    list_request r;
    r.m = &m;
    r.limit = settings_.default_list_limit;
    const std::string* fields = nullptr;
    for (auto& [key, value] : c.params) {
        if (key == "filter") {
            auto parsed = query::parse(value);
            if (auto* e = std::get_if<query::parse_error>(&parsed))
                fail({error_type::invalid_query_value,
                      "filter: " + e->message,
                      {{"field", "filter"}, {"position", e->position}}});
            auto f = store::object_filter::compile(m, std::get<query::node>(parsed));
            if (!f) fail(f.error());
            r.include_removed = f->attributes().contains("removed");
            r.filter = std::move(*f);
            r.filter_tree = std::move(std::get<query::node>(parsed));
        } else if (key == "order") {
            for (auto item : split_list(value)) {
                bool desc = item.front() == '-';
                if (desc || item.front() == '+') item.remove_prefix(1);
                r.order.emplace_back(attribute_named(m, "order", item), desc);
            }
        } else if (key == "limit") {
            r.limit = parse_count("limit", value, settings_.max_list_limit);
        } else if (key == "offset") {
            r.offset = parse_count("offset", value, std::numeric_limits<std::uint32_t>::max());
        } else if (key == "fields") {
            fields = &value;
        } else {
            fail(api_error::invalid_argument(key, "unknown parameter '" + key + "'"));
        }
    }
    r.fields = field_list(m, fields);
    r.default_fields = !fields;
    if (m.name == "session") r.visible = session_scope(who);
    if (r.order.empty()) r.order.emplace_back(m.find("id"), false);
    return r;
}

// Where a streamed list stands between two slices.
struct object_api::list_cursor {
    list_request request;
    bool by_id = false;              // id order: scanned from next_id, nothing held in memory
    std::uint64_t next_id = 0;       //   the next id to scan from
    std::vector<std::uint64_t> ids;  // otherwise: the page, taken in one snapshot
    std::size_t position = 0;        //   the next index into ids
    bool sorted = false;
    std::size_t skipped = 0, emitted = 0;

    explicit list_cursor(list_request r) : request(std::move(r)) {
        // A filtered session list is selected through the field indexes, not scanned.
        bool indexed = request.m->name == "session" && request.filter && !request.include_removed;
        by_id = !indexed && request.order.size() == 1 && request.order[0].first->name == "id" &&
                !request.order[0].second;
    }
};

bool object_api::list_slice(const store::transaction& txn, list_cursor& cur, std::string& out,
                            std::size_t max_items) const {
    const auto& r = cur.request;
    const model& m = *r.m;
    // Whether the object is listed; `parsed` holds its stored form once something needed it.
    auto matches = [&](std::uint64_t id, const store::stored_object& so,
                       std::optional<json::object>& parsed) {
        check_deadline();
        if (!r.include_removed && so.removed) return false;
        if (r.visible && !r.visible(txn, id)) return false;
        if (!r.filter) return true;
        parsed = so.parse();
        std::map<std::string, json::value> computed;
        // A live object stores no `removed` flag; to a filter it is removed:false.
        static const json::value not_removed(false);
        return r.filter->matches([&](const attribute& a) -> const json::value* {
            auto v = value_of(txn, m, *parsed, a, computed);
            if (a.name == "removed" && (!v || v->is_null())) return &not_removed;
            return v;
        });
    };
    auto emit = [&](const store::stored_object& so, std::optional<json::object>& parsed) {
        if (cur.skipped < r.offset) {
            ++cur.skipped;
            return;
        }
        if (cur.emitted++) out += ',';
        if (r.default_fields) {
            out += so.view;
            return;
        }
        if (!parsed) parsed = so.parse();
        append_json_text(out, render(txn, m, *parsed, r.fields));
    };
    std::size_t produced = 0;
    if (cur.by_id) {
        std::size_t scanned = 0;
        bool more = false;
        auto scan = [&](std::uint64_t from, const auto& visit) {
            if (m.name == "session")
                partitions_.scan(txn, from, visit);
            else
                objects_.scan(txn, m, from, visit);
        };
        scan(cur.next_id, [&](std::uint64_t id, const store::stored_object& so) {
            if (cur.emitted >= r.limit || produced >= max_items || scanned++ >= 20 * max_items) {
                more = cur.emitted < r.limit;
                cur.next_id = id;
                return false;
            }
            std::optional<json::object> parsed;
            if (!matches(id, so, parsed)) return true;
            auto before = cur.emitted;
            emit(so, parsed);
            produced += cur.emitted - before;
            return true;
        });
        return more;
    }
    if (!cur.sorted) {
        // The listed objects in id order with their order keys; in id order alone, only as many
        // as the page needs.
        bool id_order = r.order.size() == 1 && r.order[0].first->name == "id" && !r.order[0].second;
        std::vector<std::pair<std::vector<json::value>, std::uint64_t>> keyed;
        auto enough = [&] { return id_order && keyed.size() >= r.offset + r.limit; };
        auto add = [&](std::uint64_t id, const json::object& parsed) {
            std::map<std::string, json::value> computed;
            std::vector<json::value> keys;
            for (auto& [a, desc] : r.order) {
                auto v = value_of(txn, m, parsed, *a, computed);
                keys.push_back(v ? *v : json::value(nullptr));
            }
            keyed.emplace_back(std::move(keys), id);
        };
        // Every object of the catalog's store, or of one partition, in id order.
        auto scan_all = [&](const store::object_store& objects, const store::transaction& in) {
            objects.scan(in, m, 0, [&](std::uint64_t id, const store::stored_object& so) {
                if (enough()) return false;
                std::optional<json::object> parsed;
                if (!matches(id, so, parsed)) return true;
                if (!parsed) parsed = so.parse();
                add(id, *parsed);
                return true;
            });
        };
        // A partition's live sessions through its field indexes, which give the candidates, and
        // the session column their ids (in number order, which is id order) and times: only the
        // sessions that the indexes cannot decide, or that are ordered by other attributes, are
        // read.
        auto indexed = [&](const store::object_store& objects, const store::transaction& in) {
            auto& index = objects.fields();
            store::session_candidates c{index.live(in), true};
            if (r.filter) {
                store::query_fields stored{
                    m, [](const attribute& a) { return a.expensive ? nullptr : &a; },
                    [](const attribute& a, json::object o) {
                        auto it = o.find(a.name);
                        return it == o.end() ? json::value(nullptr) : it->value();
                    }};
                c = index.candidates(in, *r.filter_tree, c.numbers, stored);
            }
            bool column_keys =
                c.exact && std::all_of(r.order.begin(), r.order.end(), [](auto& o) {
                    auto& name = o.first->name;
                    return name == "id" || name == "started_at" || name == "finished_at";
                });
            index.scan_spans(in, c.numbers, [&](std::uint32_t, const store::session_span& x) {
                if (enough()) return false;
                if (r.visible && !r.visible(txn, x.id)) return true;
                if (column_keys) {
                    std::vector<json::value> keys;
                    for (auto& [a, desc] : r.order)
                        keys.push_back(a->name == "id"           ? json::value(std::to_string(x.id))
                                       : a->name == "started_at" ? json::value(x.started)
                                       : x.finished == store::session_span::open_end
                                           ? json::value(nullptr)
                                           : json::value(x.finished));
                    keyed.emplace_back(std::move(keys), x.id);
                    return true;
                }
                auto so = objects.find(in, m, x.id);
                std::optional<json::object> parsed;
                if (!so || (!c.exact && !matches(x.id, *so, parsed))) return true;
                if (!parsed) parsed = so->parse();
                add(x.id, *parsed);
                return true;
            });
        };
        if (m.name != "session") {
            scan_all(objects_, txn);
        } else {
            // Partition by partition, in id order where the partitions follow one another in it.
            if (!partitions_.ids_follow_partitions()) id_order = false;
            for (auto& at : partitions_.every(txn)) {
                if (enough()) break;
                if (r.include_removed || !at.sessions().sessions_indexed(at.txn))
                    scan_all(at.sessions(), at.txn);
                else
                    indexed(at.sessions(), at.txn);
            }
        }
        std::stable_sort(keyed.begin(), keyed.end(), [&](auto& x, auto& y) {
            check_deadline();
            for (std::size_t i = 0; i < r.order.size(); ++i) {
                int c = compare_values(&x.first[i], &y.first[i]);
                if (c) return r.order[i].second ? c > 0 : c < 0;
            }
            return x.second < y.second;
        });
        auto first = std::min(r.offset, keyed.size());
        auto last = std::min(keyed.size(), first + r.limit);
        for (auto i = first; i < last; ++i)
            cur.ids.push_back(keyed[i].second);
        cur.skipped = r.offset;
        cur.sorted = true;
    }
    while (cur.position < cur.ids.size() && produced < max_items) {
        auto id = cur.ids[cur.position++];
        auto at = place_of(txn, m, id);
        if (auto so = at ? at->objects.find(at->txn, m, id) : std::nullopt) {
            std::optional<json::object> parsed;
            emit(*so, parsed);
            ++produced;
        }
    }
    return cur.position < cur.ids.size();
}

std::function<bool(std::string&)> object_api::stream(list_request request,
                                                     std::shared_ptr<std::size_t> emitted) const {
    auto cur = std::make_shared<list_cursor>(std::move(request));
    auto started = std::make_shared<bool>(false);
    return [this, cur, started, emitted](std::string& out) {
        if (!*started) {
            *started = true;
            out += "{\"result\":\"success\",\"" + cur->request.m->name + "\":[";
        }
        bool more;
        {
            auto txn = objects_.env().read();
            more = list_slice(txn, *cur, out, 256);
        }
        if (emitted) *emitted = cur->emitted;
        if (!more) out += "]}";
        return more;
    };
}

std::string object_api::list_all(const store::transaction& txn, const list_request& request) const {
    list_cursor cur(request);
    std::string out = "{\"result\":\"success\",\"" + request.m->name + "\":[";
    while (list_slice(txn, cur, out, 1 << 20)) {
    }
    out += "]}";
    return out;
}

}  // namespace audex::api
