"""The CSV import pipeline: reading a file (csvfile), checking its rows (rows), writing
partners, persons and documents (write, records) with the keys seen so far kept on disk
(seen), the import job's life from upload to commit and resume (imports), and its
page, API and command (web, api, cli)."""
