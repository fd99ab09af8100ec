"""Guest code -> native code: decode (capstone adapter + decode table), lift
to LLVM IR, compile with llvmlite, and the native dispatcher.  Knows nothing
of syscalls or of the guest's memory map beyond the page flags contract."""
