def login(db, name, password):
    return db.execute("SELECT id FROM users WHERE name = ? AND password = ?", (name, password))
