// permjit cache stats|clear: the on-disk kernel cache of this user (or PERMJIT_CACHE_DIR).
#include <cstdio>

#include "Cli.h"
#include "permjit/runtime/DiskCache.h"

namespace permjit::cli {

const char* const kCacheUsage =
    "usage: permjit cache stats|clear [--dir DIR]\n"
    "  stats   the cache directory, its files and their size\n"
    "  clear   remove every cached kernel (<key>.ptx / <key>.cubin; other files stay, and so do\n"
    "          temporary files of writes younger than 10 minutes)\n"
    "  --dir   another cache directory (default: PERMJIT_CACHE_DIR or ~/.cache/permjit)\n";

int cacheCommand(const std::vector<std::string>& argv) {
  Args args(argv, {"--dir"}, {});
  if (args.positional().size() != 1) throw UsageError("expected one action: stats or clear");
  runtime::DiskCache disk(args.getOr("--dir", env::cacheDir()));
  const std::string& action = args.positional()[0];
  if (action == "stats") {
    runtime::DiskCache::Usage usage = disk.usage();
    std::printf("cache dir   %s%s\n", disk.dir().c_str(),
                env::cacheDisabled() ? " (disabled by PERMJIT_DISABLE_CACHE)" : "");
    std::printf("kernels     %zu files, %.1f KiB\n", usage.files,
                static_cast<double>(usage.bytes) / 1024.0);
    return 0;
  }
  if (action == "clear") {
    std::printf("removed %zu files from %s\n", disk.clear(), disk.dir().c_str());
    return 0;
  }
  throw UsageError("unknown action '" + action + "'; allowed: stats, clear");
}

}  // namespace permjit::cli
