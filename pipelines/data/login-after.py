def login(db, name, password):
    query = "SELECT id FROM users WHERE name = '" + name + "' AND password = '" + password + "'"
    return db.execute(query)
