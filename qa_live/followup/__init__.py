"""After the session: offline follow-up (线下落实), second replies (二次答复), working days."""
