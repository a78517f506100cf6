// Partition names and the catalog's list of partitions (see partition_set.hpp).
#include "store/partition_set.hpp"

#include <date/date.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include <sys/stat.h>

namespace audex::store {

std::string partition_name(micros t) {
    auto day = date::floor<date::days>(
        date::sys_time<std::chrono::microseconds>(std::chrono::microseconds(t)));
    date::year_month_day ymd(day);
    char out[16];
    auto n = std::snprintf(out, sizeof out, "%04d-%02u", int(ymd.year()), unsigned(ymd.month()));
    return std::string(out, std::size_t(n));
}

std::string session_partition(std::uint64_t id) {
    return partition_name(micros(id >> 10));
}

std::optional<std::pair<micros, micros>> partition_span(std::string_view name) {
    int year = 0;
    unsigned month = 0;
    if (name.size() != 7 || name[4] != '-') return std::nullopt;
    auto y = std::from_chars(name.data(), name.data() + 4, year);
    auto m = std::from_chars(name.data() + 5, name.data() + 7, month);
    if (y.ptr != name.data() + 4 || m.ptr != name.data() + 7 || month < 1 || month > 12)
        return std::nullopt;
    auto first = date::year_month{date::year(year), date::month(month)};
    auto start = [](date::year_month ym) {
        return micros(std::chrono::duration_cast<std::chrono::microseconds>(
                          date::sys_days(ym / 1).time_since_epoch())
                          .count());
    };
    return std::pair(start(first), start(first + date::months(1)));
}

namespace {
// Where a dropped partition's directory goes before it is removed.
constexpr std::string_view dropped_prefix = ".dropped-";
}  // namespace

partition_catalog::partition_catalog(std::filesystem::path root) : root_(std::move(root)) {
    std::filesystem::create_directories(root_);
}

std::vector<std::string> partition_catalog::names() const {
    std::vector<std::string> out;
    for (auto& entry : std::filesystem::directory_iterator(root_)) {
        auto name = entry.path().filename().string();
        if (name.starts_with(dropped_prefix))
            std::filesystem::remove_all(entry.path());
        else if (entry.is_directory() && partition_span(name))
            out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::int64_t partition_catalog::changed() const {
    struct stat st {};
    if (::stat(root_.c_str(), &st) != 0)
        throw std::filesystem::filesystem_error("reading the partitions' directory", root_,
                                                std::error_code(errno, std::generic_category()));
    return std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

void partition_catalog::remove(std::string_view name) const {
    auto gone = root_ / (std::string(dropped_prefix) + std::string(name));
    std::filesystem::rename(directory(name), gone);
    std::filesystem::remove_all(gone);
}

}  // namespace audex::store
