// Shared by the store tests: a fresh directory under the system's temporary folder, removed with
// everything in it when the test ends.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace audex::store::test {

struct temp_dir {
    std::filesystem::path path;

    temp_dir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "audex-store-XXXXXX");
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

}  // namespace audex::store::test
