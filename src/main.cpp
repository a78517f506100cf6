// The `audex` command: serve, user, import.
int main() { return 0; }
