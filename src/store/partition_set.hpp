// The store's partitions: one LMDB environment per month (UTC) of session start, in
// <data>/partitions/<YYYY-MM>/, so that a month is dropped, copied or opened on its own. The
// directory is their catalog: a partition is made by making its environment, which a write
// transaction of the catalog environment may do too, and dropped by renaming its directory away
// before removing it. docs/storage.md describes the layout.
#pragma once

#include "core/time.hpp"
#include "store/lmdb.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace audex::store {

// The name of the partition of the month holding `t`: "2026-11".
std::string partition_name(micros t);
// The first µs of the month a partition is named for and the first of the next; nullopt for a
// name that is not a month's.
std::optional<std::pair<micros, micros>> partition_span(std::string_view name);

// The partition that holds session `id`: a session's id is its start (µs) << 10, or the next free
// id above it, and so lies in the month it started. Sessions of a store written before partitions
// kept their ids, which name the month they were created in; the migration records where those
// went when it differs (search::partitioned_store).
std::string session_partition(std::uint64_t id);

// The partitions' directories.
class partition_catalog {
  public:
    explicit partition_catalog(std::filesystem::path root);

    // The partitions' names, in order; finishes the removal of dropped ones.
    std::vector<std::string> names() const;
    // When the directory last changed (ns): a partition made or dropped changes it.
    std::int64_t changed() const;
    // Removes a partition's directory: renamed first, so that a stop in between leaves it
    // dropped, and the rest removed by names() at the next start.
    void remove(std::string_view name) const;
    std::filesystem::path directory(std::string_view name) const { return root_ / name; }

  private:
    std::filesystem::path root_;
};

// The open partitions, each an environment and the `Contents` built on it (constructed from the
// environment). Partitions are shared: one that is dropped while a search reads it stays open until
// the search lets it go. Partitions that another process (`audex import
// --data`) made or dropped are found when the directory changed.
template <class Contents>
class partition_set {
  public:
    struct partition {
        partition(std::string name, const std::filesystem::path& directory,
                  const environment_options& options)
            : name(std::move(name)), env(directory, options), contents(env) {}
        const std::string name;
        environment env;
        Contents contents;
    };
    using handle = std::shared_ptr<partition>;

    // Opens every partition under `root`.
    explicit partition_set(const std::filesystem::path& root, environment_options options = {})
        : catalog_(root), options_(options) {
        refresh();
    }

    // The partition `name`, or null.
    handle find(std::string_view name) const {
        if (auto found = open_one(name)) return found;
        refresh();
        return open_one(name);
    }
    // The partition `name` (a month's: partition_name), made if there is none yet.
    handle open(const std::string& name) {
        if (auto found = find(name)) return found;
        std::lock_guard lock(create_mutex_);
        if (auto found = open_one(name)) return found;
        return make(name);
    }
    // Every partition, by name.
    std::vector<handle> all() const {
        refresh();
        std::lock_guard lock(mutex_);
        std::vector<handle> out;
        for (auto& [name, p] : open_)
            out.push_back(p);
        return out;
    }
    // Drops a partition whole: its files removed (a search that holds it reads on until it lets
    // it go). False when there is none.
    bool drop(const std::string& name) {
        std::lock_guard create(create_mutex_);
        handle p;
        {
            std::lock_guard lock(mutex_);
            auto it = open_.find(name);
            if (it == open_.end()) return false;
            p = std::move(it->second);
            open_.erase(it);
        }
        catalog_.remove(name);
        return true;
    }
    std::filesystem::path directory(std::string_view name) const {
        return catalog_.directory(name);
    }

  private:
    handle open_one(std::string_view name) const {
        std::lock_guard lock(mutex_);
        auto it = open_.find(name);
        return it == open_.end() ? nullptr : it->second;
    }
    handle make(const std::string& name) const {
        auto p = std::make_shared<partition>(name, catalog_.directory(name), options_);
        std::lock_guard lock(mutex_);
        return open_.emplace(name, std::move(p)).first->second;
    }
    // Opens the partitions made and forgets those dropped since the directory was last read.
    void refresh() const {
        auto changed = catalog_.changed();
        if (changed == seen_.load()) return;
        std::lock_guard create(create_mutex_);
        auto names = catalog_.names();
        for (auto& name : names)
            if (!open_one(name)) make(name);
        std::lock_guard lock(mutex_);
        std::erase_if(open_, [&](auto& p) {
            return !std::binary_search(names.begin(), names.end(), p.first);
        });
        // Change times are coarse (a clock tick): a change in the same tick as the last one could
        // hide behind it, so a recent one is read again next time.
        auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        seen_ = now - changed > 1'000'000'000 ? changed : -1;
    }

    partition_catalog catalog_;
    environment_options options_;
    mutable std::mutex mutex_;         // guards open_
    mutable std::mutex create_mutex_;  // one partition made or dropped at a time
    mutable std::map<std::string, handle, std::less<>> open_;
    mutable std::atomic<std::int64_t> seen_{-1};  // the directory's change time when last read
};

}  // namespace audex::store
