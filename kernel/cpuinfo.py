"""What the emulated CPU advertises to the guest.

Owns: the AT_HWCAP / AT_HWCAP2 bits the loader puts in the auxiliary
vector (arch/arm64/include/uapi/asm/hwcap.h numbering).  Only features the
translator implements may be advertised: glibc and the Go/Node runtimes
pick code paths (LSE atomics, CRC32, AES, SVE) from these bits.  Does not
own: /proc/cpuinfo text or MIDR/ID-register emulation.
"""

HWCAP_FP = 1 << 0
HWCAP_ASIMD = 1 << 1

HWCAP = HWCAP_FP | HWCAP_ASIMD
HWCAP2 = 0
PLATFORM = "aarch64"
