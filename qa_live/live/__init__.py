"""The live session: the citizen page, questions, moderation console and socket namespaces."""
