// permjit: the command line of the sparse-attention JIT (the commands live in permjit_cli).
#include <string>
#include <vector>

#include "Cli.h"

int main(int argc, char** argv) {
  return permjit::cli::dispatch(std::vector<std::string>(argv + 1, argv + argc));
}
