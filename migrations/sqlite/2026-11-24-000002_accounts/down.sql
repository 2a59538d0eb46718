DROP TABLE accounts_user;
