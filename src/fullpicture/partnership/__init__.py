"""The safeguarding partnership's learning dashboard: aggregates only, never a child's name
(issue 15 item 10; ../shared/domain/README.md theme "Learning and moving forward")."""
