/* One tiny shared object. N (set with -DN=...) makes every copy distinct,
 * so two files of the same soname never have the same content. */
int f(void) { return N; }
