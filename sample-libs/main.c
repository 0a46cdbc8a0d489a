/* The program whose dependencies each case resolves. It calls nothing:
 * its DT_NEEDED entries come from the link line (with --no-as-needed). */
int main(void) { return 0; }
