/* Thread scaling: T threads each run the same CPU-bound kernel (integer mix, no shared writes)
 * for ITERS iterations; the checksum is printed so every engine's output can be compared.
 * usage: thread_bench T ITERS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

static long iters;

static void *work(void *arg) {
    uint64_t x = 0x9E3779B97F4A7C15ull ^ (uint64_t)(long)arg, acc = 0;
    for (long i = 0; i < iters; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        acc += (x % 1000003) ^ (acc >> 5);
    }
    return (void *)(uintptr_t)acc;
}

int main(int argc, char **argv) {
    int t = argc > 1 ? atoi(argv[1]) : 2;
    iters = argc > 2 ? atol(argv[2]) : 20000000;
    pthread_t th[64];
    uint64_t sum = 0;
    for (long i = 0; i < t; i++) pthread_create(&th[i], NULL, work, (void *)(i & 0));
    for (int i = 0; i < t; i++) { void *r; pthread_join(th[i], &r); sum += (uintptr_t)r; }
    printf("threads %d iters %ld checksum %llu\n", t, iters, (unsigned long long)sum);
    return 0;
}
