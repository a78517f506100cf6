// libFuzzer target: the query parser (`q`, `filter`), its canonical printer and the object filter
// compiled from its tree. Checks the printer's promise that parse(to_string(tree)) == tree.
#include "core/query.hpp"
#include "core/schema.hpp"
#include "store/object_filter.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace audex;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = query::parse(text);
    auto* tree = std::get_if<query::node>(&parsed);
    if (!tree) return 0;
    auto printed = query::to_string(*tree);
    auto again = query::parse(printed);
    if (!std::holds_alternative<query::node>(again) || std::get<query::node>(again) != *tree)
        std::abort();  // the canonical form does not read back as the same tree

    static const model& sessions = *find_model("session");
    auto filter = store::object_filter::compile(sessions, *tree);
    if (!filter) return 0;
    // Stored forms: date-times are integer microseconds.
    static const boost::json::value protocol = "ssh", port = 22, started = 1649167567313862;
    (void)filter->matches([](const attribute& a) -> const boost::json::value* {
        if (a.name == "protocol") return &protocol;
        if (a.name == "source_port") return &port;
        if (a.name == "started_at") return &started;
        return nullptr;
    });
    return 0;
}
