# lit configuration of the permjit IR tests (tests/ir/*.mlir).
import os

import lit.formats

config.name = "permjit-ir"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py.in", "CMakeLists.txt"]
config.test_source_root = config.permjit_ir_source_dir
config.test_exec_root = config.permjit_ir_binary_dir
config.environment["PATH"] = os.pathsep.join(
    [config.permjit_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
