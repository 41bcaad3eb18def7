package dev.compresso.samples;

/** Bad command-line arguments: exit status 2, message and usage on stderr. */
final class UsageException extends Exception {
    UsageException(String message) {
        super(message);
    }
}
