-- databases created by infra/infra.sh up (same list); run once by the postgres image on an empty volume
CREATE DATABASE apicurio;
CREATE DATABASE ds_gateway;
CREATE DATABASE ds_command;
CREATE DATABASE ds_device;
CREATE DATABASE ds_adapter;
CREATE DATABASE ds_alarm;
CREATE DATABASE ds_notification;
CREATE DATABASE ds_push;
CREATE DATABASE ds_test;
