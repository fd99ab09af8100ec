/* Signal delivery cost: N times raise(SIGUSR1) to a handler in one thread (tgkill, delivery,
 * the frame, rt_sigreturn), then N hand-offs of SIGUSR1 from the main thread to a worker that
 * computes, with a semaphore posted by the handler.  Prints the handler counts.
 * Usage: signal_bench N */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_long handled, stop;
static sem_t done;

static void on_usr1(int sig) { (void)sig; atomic_fetch_add(&handled, 1); sem_post(&done); }

static void *worker(void *arg) {
    (void)arg;
    volatile unsigned long x = 0;
    while (!atomic_load(&stop))
        for (int i = 0; i < 1000; i++) x += i;
    return NULL;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000;
    signal(SIGUSR1, on_usr1);
    sem_init(&done, 0, 0);
    for (long i = 0; i < n; i++) {
        raise(SIGUSR1);
        while (sem_wait(&done) && errno == EINTR) {}
    }
    printf("self: %ld\n", atomic_load(&handled));
    atomic_store(&handled, 0);
    pthread_t w;
    pthread_create(&w, NULL, worker, NULL);
    for (long i = 0; i < n; i++) {
        pthread_kill(w, SIGUSR1);
        while (sem_wait(&done) && errno == EINTR) {}
    }
    atomic_store(&stop, 1);
    pthread_join(w, NULL);
    printf("to a computing thread: %ld\n", atomic_load(&handled));
    return 0;
}
