"""The versioned JSON API (/api/v1): what the pages and sockets do, for other systems."""
