/* cpu_bench: a CPU-bound benchmark for emu, qemu-aarch64 and native runs of the same C source.
 *
 * Usage: cpu_bench N   (N = iteration count; every kernel does N rounds of its work)
 * Kernels: integer mix loop, table-driven software CRC-32, qsort of a pseudo-random array,
 * double-precision kernel with fused multiply-add (matrix multiply and Horner polynomial via
 * fma()), sieve of Eratosthenes.  Each prints one deterministic checksum line.
 * Build with -ffp-contract=off (benchmarks/run.py does) so the only fused operations are the
 * explicit fma() calls, which are exact on both AArch64 (FMADD) and x86-64 (libm fma): the
 * output is then bit-identical across emu, qemu-aarch64 and a native x86-64 build.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- integer mix: multiplies, shifts, rotates, data-dependent branches ---- */
static uint64_t kernel_int(long rounds)
{
    uint64_t x = 0x0123456789abcdefull, acc = 0;
    uint32_t y = 12345;
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < 2000000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            y = y * 1664525u + 1013904223u;
            uint64_t t = (x * 0x9E3779B97F4A7C15ull) >> (y & 31);
            if (t & 1)
                acc += t ^ (acc >> 3);
            else
                acc -= (t << 2) | (uint64_t)(y >> 5);
            acc = (acc << 7) | (acc >> 57);
        }
    return acc ^ x ^ y;
}

/* ---- CRC-32 (IEEE, reflected), table-driven, byte at a time ---- */
static uint32_t crc_table[256];
static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}
static uint32_t crc32_buf(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
static uint32_t kernel_crc(long rounds)
{
    enum { SIZE = 1 << 20 };
    uint8_t *buf = malloc(SIZE);
    uint32_t s = 7, crc = 0;
    for (int i = 0; i < SIZE; i++) {
        s = s * 1103515245u + 12345u;
        buf[i] = (uint8_t)(s >> 16);
    }
    for (long r = 0; r < rounds; r++) {
        buf[r % SIZE] ^= (uint8_t)r;
        crc = crc32_buf(crc, buf, SIZE);
    }
    free(buf);
    return crc;
}

/* ---- qsort of pseudo-random 32-bit keys ---- */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}
static uint64_t kernel_qsort(long rounds)
{
    enum { N = 100000 };
    uint32_t *a = malloc(N * sizeof *a);
    uint64_t h = 0;
    uint32_t s = 99;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < N; i++) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            a[i] = s;
        }
        qsort(a, N, sizeof *a, cmp_u32);
        for (int i = 0; i < N; i += 97)
            h = h * 31 + a[i];
        h ^= a[0] ^ ((uint64_t)a[N - 1] << 32);
    }
    free(a);
    return h;
}

/* ---- double precision with fused multiply-add ---- */
static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}
static uint64_t kernel_fma(long rounds, double *out)
{
    enum { M = 48, P = 20000, DEG = 16 };
    static double A[M][M], B[M][M], C[M][M];
    double coef[DEG + 1];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < M; j++) {
            A[i][j] = (double)((i * 7 + j * 3) % 17) / 16.0 - 0.5;
            B[i][j] = (double)((i * 5 + j * 11) % 23) / 22.0 - 0.25;
        }
    for (int k = 0; k <= DEG; k++)
        coef[k] = 1.0 / (double)(k + 1) - (k & 1 ? 0.125 : 0.0);
    uint64_t h = 0;
    double total = 0.0;
    for (long r = 0; r < rounds; r++) {
        /* C = A * B, then A = C scaled back into range */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < M; j++) {
                double c = 0.0;
                for (int k = 0; k < M; k++)
                    c = fma(A[i][k], B[k][j], c);
                C[i][j] = c;
            }
        for (int i = 0; i < M; i++)
            for (int j = 0; j < M; j++)
                A[i][j] = C[i][j] / (fabs(C[i][j]) + 1.0);
        /* Horner evaluation of a degree-16 polynomial at P points in [-1, 1) */
        double sum = 0.0;
        for (int p = 0; p < P; p++) {
            double x = (double)p / (double)(P / 2) - 1.0;
            double y = coef[DEG];
            for (int k = DEG - 1; k >= 0; k--)
                y = fma(y, x, coef[k]);
            sum += y;
        }
        total += sum;
        h = h * 1000003 + bits_of(sum) + bits_of(C[r % M][(r * 7) % M]);
    }
    *out = total;
    return h;
}

/* ---- sieve of Eratosthenes ---- */
static uint64_t kernel_sieve(long rounds)
{
    enum { LIMIT = 2000000 };
    uint8_t *comp = malloc(LIMIT + 1);
    uint64_t h = 0;
    for (long r = 0; r < rounds; r++) {
        int limit = LIMIT - (int)(r % 1000);
        memset(comp, 0, (size_t)limit + 1);
        long count = 0, sum = 0;
        for (int i = 2; i <= limit; i++) {
            if (comp[i])
                continue;
            count++;
            sum += i;
            for (long j = (long)i * i; j <= limit; j += i)
                comp[j] = 1;
        }
        h = h * 1000003 + (uint64_t)count * 2654435761u + (uint64_t)sum;
    }
    free(comp);
    return h;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1;
    if (n < 0) {
        fprintf(stderr, "usage: cpu_bench ITERATIONS\n");
        return 2;
    }
    crc_init();
    printf("int    %016llx\n", (unsigned long long)kernel_int(n));
    printf("crc32  %08x\n", kernel_crc(n));
    printf("qsort  %016llx\n", (unsigned long long)kernel_qsort(n));
    double total;
    uint64_t h = kernel_fma(n, &total);
    printf("fma    %016llx %.17g\n", (unsigned long long)h, total);
    printf("sieve  %016llx\n", (unsigned long long)kernel_sieve(n));
    return 0;
}
